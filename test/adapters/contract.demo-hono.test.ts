/** The HTTP contract on demo on hono: see contract.ts. */
import { describeContract } from './contract.ts';
import { TARGETS } from './targets.ts';

describeContract(TARGETS['demo/hono']!);
