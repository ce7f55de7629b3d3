/**
 * Measures what a Link really does, through its own echo servers: the
 * round trip client–service and service–S3 (one-byte echoes on an open
 * connection), and the loss over a bulk echo from the client (the router's
 * egress counters, and the TCP retransmissions it caused in the
 * namespaces). checkLink() fails unless the link has the RTT and the loss
 * it claims.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { root } from "../../support/service-process.js";
import {
  DELAY_MS,
  ECHO_PORT,
  type Link,
  LOSS_PER_MILLE,
  S3_ADDRESS,
  SERVICE_ADDRESS,
} from "./link.js";

const exec = promisify(execFile);
const probeScript = join(root, "test", "integration", "interop", "netns", "probe.ts");

export interface RttFigures {
  readonly minMs: number;
  readonly medianMs: number;
}

export interface LinkFigures {
  readonly clientService: RttFigures;
  readonly serviceS3: RttFigures;
  /** The bulk echo: MiB each way, whether every byte came back, how long it took. */
  readonly bulk: { readonly mib: number; readonly intact: boolean; readonly ms: number };
  /** Packets through the emulating egress during the bulk echo, and those dropped. */
  readonly packets: number;
  readonly dropped: number;
  /** TCP segments retransmitted in the namespaces during the bulk echo. */
  readonly retransmits: number;
}

async function probe(link: Link, ns: string, args: readonly string[]): Promise<unknown> {
  const [program, ...rest] = link.inNamespace(ns, [
    process.execPath,
    "--import",
    "tsx",
    probeScript,
    ...args,
  ]);
  const { stdout } = await exec(program ?? "", rest, { cwd: root, timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "null");
}

async function rtt(link: Link, ns: string, address: string): Promise<RttFigures> {
  const { rttsMs } = (await probe(link, ns, ["echo-rtt", address, String(ECHO_PORT), "21"])) as {
    rttsMs: number[];
  };
  const sorted = [...rttsMs].sort((a, b) => a - b);
  return { minMs: sorted[0] ?? Number.NaN, medianMs: sorted[sorted.length >> 1] ?? Number.NaN };
}

export async function measureLink(link: Link, bulkMib = 8): Promise<LinkFigures> {
  const clientService = await rtt(link, link.client, SERVICE_ADDRESS);
  const serviceS3 = await rtt(link, link.service, S3_ADDRESS);
  const before = await link.counters();
  const bulk = (await probe(link, link.client, [
    "echo-bulk",
    SERVICE_ADDRESS,
    String(ECHO_PORT),
    String(bulkMib),
  ])) as { intact: boolean; ms: number };
  const after = await link.counters();
  return {
    clientService,
    serviceS3,
    bulk: { mib: bulkMib, intact: bulk.intact, ms: bulk.ms },
    packets: after.packets - before.packets,
    dropped: after.dropped - before.dropped,
    retransmits: after.retransmits - before.retransmits,
  };
}

/** One line of figures, for the docs and the log. */
export function describeFigures(f: LinkFigures): string {
  const ms = (r: RttFigures) => `${r.minMs.toFixed(1)} ms min, ${r.medianMs.toFixed(1)} ms median`;
  return [
    `RTT client–service ${ms(f.clientService)}`,
    `service–S3 ${ms(f.serviceS3)}`,
    `loss ${f.dropped} of ${f.packets} packets (${((100 * f.dropped) / Math.max(1, f.packets)).toFixed(2)}%) over a ${f.bulk.mib} MiB echo each way`,
    `${f.retransmits} TCP retransmissions`,
  ].join("; ");
}

/**
 * The link has what it claims: a round trip of 2 × DELAY_MS (at least, and
 * not more than 15 ms over on the median: a busy machine's timers), a loss
 * rate within a factor of two of LOSS_PER_MILLE (over thousands of
 * packets), TCP retransmitting what was lost, and every byte delivered.
 */
export function checkLink(f: LinkFigures): void {
  const want = 2 * DELAY_MS;
  for (const [name, r] of [
    ["client–service", f.clientService],
    ["service–S3", f.serviceS3],
  ] as const) {
    assert.ok(
      r.minMs >= want - 1,
      `the ${name} round trip is ${r.minMs.toFixed(1)} ms, not ${want}`,
    );
    assert.ok(
      r.medianMs <= want + 15,
      `the ${name} round trip's median is ${r.medianMs.toFixed(1)} ms, far above ${want}`,
    );
  }
  assert.ok(f.bulk.intact, "the bulk echo came back intact");
  assert.ok(f.packets >= 2000, `only ${f.packets} packets crossed: too few to count the loss`);
  const perMille = (1000 * f.dropped) / f.packets;
  assert.ok(
    perMille >= LOSS_PER_MILLE / 2 && perMille <= LOSS_PER_MILLE * 2,
    `${f.dropped} of ${f.packets} packets were dropped (${perMille.toFixed(2)}‰), not ${LOSS_PER_MILLE}‰`,
  );
  assert.ok(f.retransmits > 0, "TCP retransmitted nothing: no loss reached it");
}
