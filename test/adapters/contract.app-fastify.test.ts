/** The HTTP contract on app on fastify: see contract.ts. */
import { describeContract } from './contract.ts';
import { TARGETS } from './targets.ts';

describeContract(TARGETS['app/fastify']!);
