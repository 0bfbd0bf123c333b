/** latest.md (tables) and latest.svg (a hand-written bar chart of the ratios). */
import type { Spread } from './measure.ts';
import type { BenchResult } from './result.ts';

function si(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${Math.round(value / 1e3)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(value >= 100 ? 0 : 1);
}

function us(opsPerSec: number): string {
  const micro = 1e6 / opsPerSec;
  return micro >= 100 ? micro.toFixed(0) : micro >= 10 ? micro.toFixed(1) : micro.toFixed(2);
}

const x = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a');
const range = (s: Spread, f: (v: number) => string) => `${f(s.min)}–${f(s.max)}`;
const iqr = (s: Spread, f: (v: number) => string) => `${f(s.q1)}–${f(s.q3)}`;
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The targets table: every target of bench/lib/targets.ts, pass or miss, with the figure. */
export function renderTargets(result: BenchResult): string {
  return table(
    ['', 'target', 'measured'],
    result.targets.map((t) => [
      t.pass === null ? 'n/a' : t.pass ? 'pass' : '**miss**',
      t.description,
      t.detail,
    ]),
  );
}

/**
 * `text` with the region between `<!-- bench-targets:start -->` and
 * `<!-- bench-targets:end -->` replaced by `region`; null when the markers are
 * missing. The READMEs quote the committed run's targets through it, so they
 * cannot drift from bench/results/latest.json.
 */
export function spliceTargets(text: string, region: string): string | null {
  const start = '<!-- bench-targets:start -->';
  const end = '<!-- bench-targets:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) return null;
  return `${text.slice(0, from + start.length)}\n${region}\n${text.slice(to)}`;
}

export function renderMarkdown(result: BenchResult): string {
  const m = result.machine;
  const out: string[] = [];
  out.push(`# Baton benchmark results (${result.mode} run)`);
  out.push('');
  out.push(
    `${result.startedAt}, ${result.durationSeconds} s. ${m.cpuModel}, ${m.cores} cores${m.affinity ? ` (affinity ${m.affinity})` : ''}, ${m.memoryGiB} GiB, load average at start ${m.loadAverage.join(' / ')}. Node ${m.node} (V8 ${m.v8}, OpenSSL ${m.openssl}), ${m.os}. Baton ${m.batonCommit ?? '?'}.`,
  );
  out.push('');
  out.push(
    `Packages: ${Object.entries(m.packages)
      .map(([name, version]) => `${name} ${version ?? '(not installed)'}`)
      .join(', ')}.`,
  );
  out.push('');
  out.push(
    'Every figure is the median of interleaved rounds in this one run; ratios are medians of per-round ratios (each pair measured next to each other). Spread: min–max over rounds, or the interquartile range (IQR).',
  );
  out.push('');

  for (const note of result.notes) out.push(`- ${note}`);
  if (result.notes.length > 0) out.push('');
  out.push('## Targets');
  out.push('');
  out.push(renderTargets(result));
  out.push('');

  const tokens = result.tokens;
  if (tokens) {
    out.push('## Verify and sign (one thread, ops/s)');
    out.push('');
    for (const alg of tokens.algs) {
      out.push(`### ${alg.alg} (token ${alg.tokenLength} characters)`);
      out.push('');
      for (const kind of ['verify', 'sign'] as const) {
        out.push(
          table(
            [kind, 'ops/s (wall)', 'min–max', 'ops per CPU-s', 'µs CPU/op', '× floor', '× floor IQR'],
            alg[kind].map((c) => [
              c.name,
              si(c.opsPerSec.median),
              range(c.opsPerSec, si),
              c.cpuOpsPerSec ? si(c.cpuOpsPerSec) : 'n/a',
              c.cpuOpsPerSec ? us(c.cpuOpsPerSec) : 'n/a',
              x(c.vsFloor.median),
              iqr(c.vsFloor, (v) => v.toFixed(2)),
            ]),
          ),
        );
        out.push('');
      }
    }
  }

  const http = result.http;
  if (http) {
    out.push(
      `## HTTP (autocannon, ${http.connections} connections, 127.0.0.1${http.pinned ? ', server and load generator on different cores' : ''})`,
    );
    out.push('');
    for (const note of http.notes) out.push(`- ${note}`);
    out.push('');
    for (const fw of http.frameworks) {
      out.push(`### ${fw.framework}`);
      out.push('');
      // Results written before the /noop route existed have no such column.
      const noop = fw.cases.some((c) => c.route === '/noop');
      const head = [
        'route',
        'auth',
        'req/s (wall)',
        'min–max',
        'req per server CPU-s',
        'p99 ms',
        'cost vs no auth',
        'cost IQR',
        'cost vs /header',
      ];
      out.push(
        table(
          noop ? [...head, 'cost vs /noop'] : head,
          fw.cases.map((c) => {
            const cells = [
              `\`${c.route}\``,
              c.label,
              si(c.reqPerSec.median),
              range(c.reqPerSec, si),
              c.reqPerCpuSec ? si(c.reqPerCpuSec.median) : 'n/a',
              c.p99Ms.median.toFixed(0),
              c.route === '/noauth' ? '—' : pct(c.cost.median),
              c.route === '/noauth' ? '—' : iqr(c.cost, pct),
              c.route === '/noauth' || c.route === '/header' ? '—' : pct(c.costOverHeader.median),
            ];
            if (noop) {
              cells.push(
                c.route === '/noauth' || c.route === '/noop' || c.costOverNoop === undefined
                  ? '—'
                  : pct(c.costOverNoop.median),
              );
            }
            return cells;
          }),
        ),
      );
      out.push('');
    }
  }

  const refresh = result.refresh;
  if (refresh) {
    out.push(`## Refresh (${refresh.alg} access tokens; each call rotates)`);
    out.push('');
    for (const s of refresh.skipped) out.push(`- ${s.store}: skipped, ${s.reason}`);
    if (refresh.skipped.length > 0) out.push('');
    const rows: string[][] = [];
    for (const store of refresh.stores) {
      for (const f of store.figures) {
        rows.push([
          store.store,
          String(f.concurrency),
          si(f.baton.perSec.median),
          range(f.baton.perSec, si),
          f.baton.p99Us >= 1000
            ? `${(f.baton.p99Us / 1000).toFixed(2)} ms`
            : `${f.baton.p99Us.toFixed(0)} µs`,
          si(f.floor.perSec.median),
          f.floor.p99Us >= 1000
            ? `${(f.floor.p99Us / 1000).toFixed(2)} ms`
            : `${f.floor.p99Us.toFixed(0)} µs`,
          x(f.vsFloor.median),
        ]);
      }
    }
    out.push(
      table(
        ['store', 'clients', 'refreshes/s', 'min–max', 'p99', 'floor ops/s', 'floor p99', '× floor'],
        rows,
      ),
    );
    out.push('');
    for (const store of refresh.stores) out.push(`- ${store.store} floor: ${store.floor}`);
    out.push('');
  }

  const scaling = result.scaling;
  if (scaling) {
    out.push('## Scaling');
    out.push('');
    out.push(
      table(
        ['revoked sessions in the set', 'cold verify ops/s', '× empty set', 'cache-hit ops/s', '× empty set'],
        scaling.verify.map((v) => [
          String(v.revoked),
          si(v.cold.median),
          x(v.coldVsEmpty.median),
          si(v.hit.median),
          x(v.hitVsEmpty.median),
        ]),
      ),
    );
    out.push('');
    if (scaling.refresh.length > 0) {
      out.push(
        table(
          ['store', 'sessions in the store', 'refreshes/s (8 clients)', 'min–max', '× smallest', 'fill time'],
          scaling.refresh.map((r) => [
            r.store,
            String(r.sessions),
            si(r.perSec.median),
            range(r.perSec, si),
            x(r.vsSmallest.median),
            `${r.fillSeconds.toFixed(1)} s`,
          ]),
        ),
      );
      out.push('');
    }
    for (const s of scaling.skipped) out.push(`- ${s.store}: skipped, ${s.reason}`);
    out.push(
      table(
        ['heap', 'entries', 'bytes per entry'],
        scaling.heap.map((h) => [
          h.kind === 'revoked' ? 'revoked-session set (RevocationList)' : 'MemoryStore session',
          String(h.count),
          Math.round(h.bytesPerEntry).toString(),
        ]),
      ),
    );
    out.push('');
  }
  const processes = result.processes;
  if (processes) {
    out.push(`## Scaling out: 1 and 2 worker processes over one store (${processes.clients} clients)`);
    out.push('');
    out.push(
      "Each worker is its own SessionManager behind its own port; with 2, client i's j-th request goes to worker (i + j) mod 2, so every refresh lands on the other process than the last one. Ratios are per round, N=2 / N=1; the load generator, the workers and the stores' servers share this machine's cores. Revocation: from the start of a logout in one process until another rejects the token it had cached.",
    );
    out.push('');
    for (const s of processes.skipped) out.push(`- ${s.store}: skipped, ${s.reason}`);
    if (processes.figures.length > 0) {
      const ms = (v: number) => `${v.toFixed(1)} ms`;
      out.push(
        table(
          [
            'store',
            'refreshes/s N=1',
            'N=2',
            'N=2 / N=1',
            'refresh p99 N=1 / N=2',
            'protected req/s N=1',
            'N=2',
            'N=2 / N=1',
            'revocation p50 / p99',
          ],
          processes.figures.map((f) => [
            f.store,
            si(f.refresh.n1.median),
            si(f.refresh.n2.median),
            `${x(f.refresh.ratio.median)} (${range(f.refresh.ratio, (v) => v.toFixed(2))})`,
            `${ms(f.refresh.p99Ms.n1)} / ${ms(f.refresh.p99Ms.n2)}`,
            si(f.protected.n1.median),
            si(f.protected.n2.median),
            `${x(f.protected.ratio.median)} (${range(f.protected.ratio, (v) => v.toFixed(2))})`,
            f.revocation ? `${ms(f.revocation.p50Ms)} / ${ms(f.revocation.p99Ms)}` : 'n/a',
          ]),
        ),
      );
      out.push('');
      for (const f of processes.figures) out.push(`- ${f.store}: ${f.limit}`);
    }
    out.push('');
  }
  const revocation = result.revocation;
  if (revocation) {
    out.push('## Cross-process revocation delay');
    out.push('');
    out.push(
      'From the start of a logout in this process until another process (same store, the token in its verify cache) rejects the token.',
    );
    out.push('');
    for (const s of revocation.skipped) out.push(`- ${s.store}: skipped, ${s.reason}`);
    if (revocation.figures.length > 0) {
      out.push(
        table(
          ['store', 'samples', 'p50', 'p99', 'max'],
          revocation.figures.map((f) => [
            f.store,
            String(f.samples),
            `${f.p50Ms.toFixed(2)} ms`,
            `${f.p99Ms.toFixed(2)} ms`,
            `${f.maxMs.toFixed(2)} ms`,
          ]),
        ),
      );
    }
    out.push('');
  }
  const ba = result.betterAuth;
  if (ba) {
    out.push(
      `## Baton vs better-auth (autocannon and HTTP client loops, ${ba.connections} connections, 127.0.0.1${ba.pinned ? ', server and load generator on different cores' : ''})`,
    );
    out.push('');
    for (const note of ba.notes) out.push(`- ${note}`);
    out.push('');
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    out.push(
      table(
        ['', ...ba.frameworks.map((fw) => `${fw.framework}: Baton ÷ better-auth (min–max)`)],
        (ba.frameworks[0]?.ratios ?? []).map((r) => [
          r.label,
          ...ba.frameworks.map((fw) => {
            const v = fw.ratios.find((o) => o.id === r.id)?.value;
            return v ? `${x(v.median)} (${range(v, (n) => n.toFixed(2))})` : 'n/a';
          }),
        ]),
      ),
    );
    out.push('');
    out.push(
      `Ratios per ${ba.costBasis === 'server-cpu' ? 'server CPU-second (every thread of the server process)' : 'wall-clock second'}, median of the per-round ratios.`,
    );
    out.push('');
    for (const fw of ba.frameworks) {
      out.push(`### ${fw.framework}`);
      out.push('');
      out.push(
        table(
          ['case', 'req/s (wall)', 'min–max', 'req per server CPU-s', 'p99 ms'],
          fw.cases.map((c) => [
            c.label,
            si(c.reqPerSec.median),
            range(c.reqPerSec, si),
            c.reqPerCpuSec ? si(c.reqPerCpuSec.median) : 'n/a',
            c.p99Ms.median.toFixed(1),
          ]),
        ),
      );
      out.push('');
    }
    const revocation = ba.revocation;
    if (revocation) {
      out.push(
        `### After logout (${revocation.framework}; old credentials presented every ${revocation.pollMs} ms until the first 401)`,
      );
      out.push('');
      out.push(
        table(
          [
            'system',
            'logouts',
            'requests still accepted (median / max)',
            'accepted for (median / max)',
            'never refused',
          ],
          revocation.figures.map((f) => [
            f.label,
            String(f.samples),
            `${f.acceptedRequests.median} / ${f.acceptedRequests.max}`,
            `${ms(f.acceptedMs.median)} / ${ms(f.acceptedMs.max)}`,
            String(f.neverRejected),
          ]),
        ),
      );
      out.push('');
    }
    if (ba.footprint.length > 0) {
      out.push('### Store size per 100 000 live sessions (SQLite file bytes after a WAL checkpoint)');
      out.push('');
      out.push(
        table(
          ['store', 'sessions created', 'bytes added', 'per 100 000 sessions', 'per session'],
          ba.footprint.map((f) => [
            f.label,
            String(f.sessions),
            mib(f.bytes),
            mib(f.bytesPer100k),
            `${Math.round(f.bytes / f.sessions)} B`,
          ]),
        ),
      );
      out.push('');
    }
  }
  const observability = result.observability;
  if (observability) {
    out.push('## Observability (issue 17: baton-auth/otel)');
    out.push('');
    out.push(
      'Each case measured in pairs with the same work without it. Cost: the share of the baseline’s throughput it loses (1 − ratio). The SDK aggregates metrics and makes spans, and exports nothing during the run.',
    );
    out.push('');
    out.push(
      table(
        ['group', 'case', 'baseline', 'ops/s (wall)', '× baseline', '× baseline IQR', 'cost'],
        observability.groups.flatMap((g) =>
          g.cases.map((c) => [
            g.group,
            c.name,
            c.baseline,
            si(c.opsPerSec.median),
            c.vsBaseline.median.toFixed(3),
            iqr(c.vsBaseline, (v) => v.toFixed(3)),
            pct(1 - c.vsBaseline.median),
          ]),
        ),
      ),
    );
    out.push('');
  }
  const dpop = result.dpop;
  if (dpop) {
    out.push('## DPoP (issue 18: a protected request, Bearer vs DPoP)');
    out.push('');
    out.push(
      'The same access token through `createBatonHttp(...).guard()`, as Bearer and as DPoP with a fresh proof (signed beforehand, one per request), measured in pairs. Added: what DPoP costs one request (proof parse and claims, signature check by the header’s JWK, cnf.jkt, the replay cache’s write of the jti to the store). Signature: node:crypto’s verify of one proof alone, the floor of that cost.',
    );
    out.push('');
    out.push(
      table(
        [
          'store',
          'proof alg',
          'Bearer req/s',
          'DPoP req/s',
          'DPoP / Bearer',
          'DPoP / Bearer IQR',
          'added per request',
          'of which signature',
        ],
        dpop.groups.map((g) => [
          g.store,
          g.alg,
          si(g.bearer.median),
          si(g.dpop.median),
          g.vsBearer.median.toFixed(3),
          iqr(g.vsBearer, (v) => v.toFixed(3)),
          `${g.addedUs.toFixed(1)} µs`,
          `${g.signatureUs.toFixed(1)} µs`,
        ]),
      ),
    );
    for (const skipped of dpop.skipped) out.push(`\n${skipped.store}: skipped (${skipped.reason})`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------
// SVG: cold and warm verify as multiples of the floor, log scale.

const COLORS: Record<string, string> = {
  baton: '#2563eb',
  jose: '#9333ea',
  'fast-jwt': '#ea580c',
  jsonwebtoken: '#6b7280',
  'node:crypto': '#111827',
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderSvg(result: BenchResult): string {
  const algs = result.tokens?.algs ?? [];
  const shown = (name: string) => name !== 'floor' && !name.includes('Buffer secret');
  const width = 860;
  const left = 300;
  const right = 40;
  const barHeight = 14;
  const gap = 4;
  const min = 0.01;
  const max = 100;
  const scale = (value: number) =>
    left +
    ((Math.log10(Math.min(max, Math.max(min, value))) - Math.log10(min)) /
      (Math.log10(max) - Math.log10(min))) *
      (width - left - right);
  const parts: string[] = [];
  let y = 56;
  for (const alg of algs) {
    parts.push(
      `<text x="10" y="${y + 12}" font-weight="bold">${alg.alg} verify (× node:crypto floor)</text>`,
    );
    y += 22;
    for (const c of alg.verify.filter((v) => shown(v.name))) {
      const value = c.vsFloor.median;
      const color = COLORS[c.library] ?? '#444';
      parts.push(
        `<text x="${left - 8}" y="${y + barHeight - 3}" text-anchor="end">${escapeXml(c.name)}</text>`,
      );
      parts.push(
        `<rect x="${left}" y="${y}" width="${Math.max(1, scale(value) - left).toFixed(1)}" height="${barHeight}" fill="${color}"/>`,
      );
      parts.push(
        `<text x="${(scale(value) + 4).toFixed(1)}" y="${y + barHeight - 3}">${value.toFixed(2)}x</text>`,
      );
      y += barHeight + gap;
    }
    y += 10;
  }
  const height = y + 30;
  const ticks = [0.01, 0.1, 1, 10, 100]
    .map((t) => {
      const tx = scale(t).toFixed(1);
      return `<line x1="${tx}" y1="44" x2="${tx}" y2="${y}" stroke="${t === 1 ? '#111' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/><text x="${tx}" y="${y + 16}" text-anchor="middle">${t}x</text>`;
    })
    .join('');
  const m = result.machine;
  const title = `Baton verify vs the node:crypto floor (log scale; 1x = floor) — ${result.mode} run, ${escapeXml(m.cpuModel)}, Node ${m.node}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12" role="img">
<title>${title}</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="24" font-size="14" font-weight="bold">${title}</text>
${ticks}
${parts.join('\n')}
</svg>
`;
}
