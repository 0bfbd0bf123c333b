/** The shape of bench/results/latest.json. */
import type { BetterAuthResult } from '../suites/better-auth.ts';
import type { DpopResult } from '../suites/dpop.ts';
import type { HttpResult } from '../suites/http.ts';
import type { ObservabilityResult } from '../suites/observability.ts';
import type { ProcessesResult } from '../suites/processes.ts';
import type { RefreshResult } from '../suites/refresh.ts';
import type { RevocationResult } from '../suites/revocation.ts';
import type { ScalingResult } from '../suites/scaling.ts';
import type { TokensResult } from '../suites/tokens.ts';
import type { MachineInfo } from './machine.ts';
import type { BenchMode, ModeConfig } from './modes.ts';

export interface TargetCheck {
  id: string;
  description: string;
  /** The measured figure (a ratio, a share, bytes...). */
  value: number | null;
  /** The bound, read with `comparison`. */
  target: number;
  comparison: '>=' | '<=';
  /** null when the figure was not measured in this run. */
  pass: boolean | null;
  detail: string;
}

export interface BenchResult {
  version: 1;
  mode: BenchMode;
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  config: ModeConfig;
  tokens: TokensResult | null;
  http: HttpResult | null;
  refresh: RefreshResult | null;
  scaling: ScalingResult | null;
  /** N worker processes over one store; absent in results written before it existed. */
  processes?: ProcessesResult | null;
  revocation: RevocationResult | null;
  /** Absent from results written before the better-auth comparison existed. */
  betterAuth?: BetterAuthResult | null;
  /** Absent in results written before it existed. */
  observability?: ObservabilityResult | null;
  /** A protected request, Bearer vs DPoP; absent in results written before it existed. */
  dpop?: DpopResult | null;
  targets: TargetCheck[];
  notes: string[];
}
