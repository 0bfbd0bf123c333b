/** The HTTP contract on app on express: see contract.ts. */
import { describeContract } from './contract.ts';
import { TARGETS } from './targets.ts';

describeContract(TARGETS['app/express']!);
