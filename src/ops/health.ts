/**
 * The gRPC health checking protocol (grpc.health.v1.Health), for load
 * balancers, Kubernetes' gRPC probes and grpc_health_probe.
 *
 * HealthState is the protocol-free core: which services are SERVING or
 * NOT_SERVING ("" stands for the server as a whole), and who watches them.
 * createHealthService() serves it: Check answers NOT_FOUND for a service it
 * does not know; Watch sends the current status at once (SERVICE_UNKNOWN for
 * an unknown service, keeping the stream open), then every change, until the
 * call ends (cancelled, past its deadline, or the server shutting down).
 *
 * The service needs no authentication, so what it holds is bounded: names
 * longer than HEALTH_MAX_NAME_CHARS are INVALID_ARGUMENT, at most
 * HEALTH_MAX_WATCHERS Watch streams are open at once (RESOURCE_EXHAUSTED
 * beyond), and routes.ts caps its requests at a few KiB.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { callerText } from "../caller-text.js";
import {
  type Health,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";

/** A service's status. */
export type HealthStatus = "SERVING" | "NOT_SERVING";

/** The name that stands for the whole server. */
export const OVERALL = "";

/** Called when a watched service's status changes. */
export type HealthListener = (status: HealthStatus | undefined) => void;

/** The most statuses List answers with (the protocol's limit). */
const LIST_MAX = 100;

/** The longest service name Check and Watch accept, in characters. */
export const HEALTH_MAX_NAME_CHARS = 256;

/**
 * Watch streams open at once, at most: each holds its name and a listener
 * until its call ends, and a Watch of an unknown name never ends by itself
 * (the protocol keeps it open), so their number is bounded instead.
 */
export const HEALTH_MAX_WATCHERS = 100;

/** The serving status of each service, and the watchers of each. */
export class HealthState {
  readonly #statuses = new Map<string, HealthStatus>();
  readonly #listeners = new Map<string, Set<HealthListener>>();
  #terminal = false;

  /** Starts with each of services (and "", the server) SERVING. */
  constructor(services: Iterable<string> = []) {
    this.#statuses.set(OVERALL, "SERVING");
    for (const service of services) this.#statuses.set(service, "SERVING");
  }

  /** The status of service, undefined when it is unknown. */
  get(service: string): HealthStatus | undefined {
    return this.#statuses.get(service);
  }

  /** Every known service and its status. */
  entries(): [string, HealthStatus][] {
    return [...this.#statuses];
  }

  /**
   * Sets service's status and tells its watchers if it changed. Ignored once
   * setAllNotServing() has been called: a server shutting down stays down.
   */
  set(service: string, status: HealthStatus): void {
    if (this.#terminal) return;
    this.#update(service, status);
  }

  /**
   * Marks every service NOT_SERVING, for shutdown, so that load balancers
   * stop sending calls before the server closes. Final: later set() calls are
   * ignored.
   */
  /** Whether setAllNotServing() has been called. */
  get shuttingDown(): boolean {
    return this.#terminal;
  }

  setAllNotServing(): void {
    this.#terminal = true;
    for (const service of [...this.#statuses.keys()]) this.#update(service, "NOT_SERVING");
  }

  /** Calls listener on each change of service's status; returns the unsubscribe. */
  watch(service: string, listener: HealthListener): () => void {
    let listeners = this.#listeners.get(service);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(service, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(service) === listeners) {
        this.#listeners.delete(service);
      }
    };
  }

  /** How many watchers service has (for tests). */
  watcherCount(service: string): number {
    return this.#listeners.get(service)?.size ?? 0;
  }

  #update(service: string, status: HealthStatus): void {
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    for (const listener of [...(this.#listeners.get(service) ?? [])]) listener(status);
  }
}

function toProto(status: HealthStatus | undefined, unknown: ServingStatus): ServingStatus {
  if (status === "SERVING") return ServingStatus.SERVING;
  if (status === "NOT_SERVING") return ServingStatus.NOT_SERVING;
  return unknown;
}

function response(status: ServingStatus): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status });
}

/** Throws INVALID_ARGUMENT for a name no service could have. */
function checkName(service: string): void {
  if (service.length > HEALTH_MAX_NAME_CHARS) {
    throw new ConnectError(
      `service: a service name is at most ${HEALTH_MAX_NAME_CHARS} characters`,
      Code.InvalidArgument,
    );
  }
}

/** grpc.health.v1.Health over state. */
export function createHealthService(state: HealthState): ServiceImpl<typeof Health> {
  let watchers = 0;
  return {
    check(req) {
      checkName(req.service);
      const status = state.get(req.service);
      if (status === undefined) {
        throw new ConnectError(`unknown service "${callerText(req.service)}"`, Code.NotFound);
      }
      return response(toProto(status, ServingStatus.UNKNOWN));
    },

    list() {
      const entries = state.entries();
      if (entries.length > LIST_MAX) {
        throw new ConnectError(
          `${entries.length} services, more than the ${LIST_MAX} List may return`,
          Code.ResourceExhausted,
        );
      }
      return create(HealthListResponseSchema, {
        statuses: Object.fromEntries(
          entries.map(([name, status]) => [
            name,
            { status: toProto(status, ServingStatus.UNKNOWN) },
          ]),
        ),
      });
    },

    async *watch(req, ctx) {
      checkName(req.service);
      if (watchers >= HEALTH_MAX_WATCHERS) {
        throw new ConnectError(
          `${watchers} Watch streams are open, this server's limit; use Check, or retry later`,
          Code.ResourceExhausted,
        );
      }
      watchers++;
      const { signal } = ctx;
      // Set by every change and by the end of the call; the loop sleeps on it.
      let changed = true;
      let wake: (() => void) | undefined;
      const notify = () => {
        changed = true;
        wake?.();
      };
      const unsubscribe = state.watch(req.service, notify);
      signal.addEventListener("abort", notify);
      try {
        let sent: ServingStatus | undefined;
        while (!signal.aborted) {
          if (!changed) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
            continue;
          }
          changed = false;
          const status = toProto(state.get(req.service), ServingStatus.SERVICE_UNKNOWN);
          if (status !== sent) {
            sent = status;
            yield response(status);
          }
          // Shutting down: NOT_SERVING is sent and final, so the stream ends
          // rather than hold the draining server open.
          if (state.shuttingDown) return;
        }
      } finally {
        watchers--;
        unsubscribe();
        signal.removeEventListener("abort", notify);
      }
    },
  };
}
