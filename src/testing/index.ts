/**
 * `baton-auth/testing`: tools for people who write their own SessionStore.
 *
 * @module baton-auth/testing
 */
export type { ConformanceTestFunctions } from './conformance.ts';
export { storeConformanceSuite } from './conformance.ts';
