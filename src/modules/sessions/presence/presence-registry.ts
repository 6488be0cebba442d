import { PresenceViewer as WireViewer } from 'src/protocol/stream-event-types';

/** A viewer as the registry keeps it: `idle` always set. */
export type PresenceViewer = Required<WireViewer>;

/** A user's streams of one session tree on this replica. */
interface LocalViewer {
  joinedAt: string;
  /** Idle flag per open stream. */
  streams: Map<number, boolean>;
  /** The user's idle aggregate, kept through the leave grace window. */
  idle: boolean;
  /** Set while the user holds no stream: the leave takes effect when it fires. */
  leaving?: NodeJS.Timeout;
}

export interface PresenceRegistryOptions {
  /** How long a user without streams stays listed (absorbs reconnect churn and idle flips). */
  graceMs: number;
  now(): Date;
  /** The tree's viewer list (this replica's and the others' merged) changed. */
  onViewers(root: string, viewers: PresenceViewer[]): void;
  /** This replica's own viewers of the tree changed (an empty list: it has none left). */
  onLocal(root: string, viewers: PresenceViewer[]): void;
}

const sameViewers = (a: PresenceViewer[], b: PresenceViewer[]): boolean =>
  a.length === b.length &&
  a.every(
    (v, i) => v.user_id === b[i].user_id && v.joined_at === b[i].joined_at && v.idle === b[i].idle,
  );

/**
 * Who views each session tree (api-reference §4.5), keyed by the tree's root: this replica's
 * streams, and the lists other replicas reported. A user is listed once, with the earliest
 * `joined_at` and idle only when every stream they hold is idle; one who closes their last
 * stream stays listed for `graceMs`, so a reconnect keeps `joined_at` and causes no event.
 */
export class PresenceRegistry {
  private readonly local = new Map<string, Map<string, LocalViewer>>();
  private readonly remote = new Map<
    string,
    Map<string, { viewers: PresenceViewer[]; expiresAt: number }>
  >();
  private readonly published = new Map<string, PresenceViewer[]>();
  private readonly merged = new Map<string, PresenceViewer[]>();
  private nextStream = 0;

  constructor(private readonly options: PresenceRegistryOptions) {}

  /** Registers one stream of `userId` on the tree; returns its leave (idempotent). */
  join(root: string, userId: string, idle: boolean): () => void {
    let viewers = this.local.get(root);
    if (!viewers) {
      viewers = new Map();
      this.local.set(root, viewers);
    }
    let viewer = viewers.get(userId);
    if (!viewer) {
      viewer = { joinedAt: this.options.now().toISOString(), streams: new Map(), idle };
      viewers.set(userId, viewer);
    }
    clearTimeout(viewer.leaving);
    viewer.leaving = undefined;
    const stream = ++this.nextStream;
    viewer.streams.set(stream, idle);
    this.localChanged(root);
    const joined = viewer;
    return () => {
      if (!joined.streams.delete(stream)) {
        return;
      }
      if (joined.streams.size > 0) {
        this.localChanged(root);
        return;
      }
      joined.leaving = setTimeout(() => {
        const current = this.local.get(root);
        if (current?.get(userId) === joined) {
          current.delete(userId);
          if (current.size === 0) {
            this.local.delete(root);
          }
        }
        this.localChanged(root);
      }, this.options.graceMs);
      joined.leaving.unref?.();
    };
  }

  /** The tree's viewers, ordered by join time. */
  viewers(root: string): PresenceViewer[] {
    return this.merged.get(root) ?? [];
  }

  /** This replica's viewers of the tree (what it reports to the others). */
  localViewers(root: string): PresenceViewer[] {
    return [...(this.local.get(root) ?? new Map<string, LocalViewer>())].map(([userId, v]) => {
      if (v.streams.size > 0) {
        v.idle = [...v.streams.values()].every(Boolean);
      }
      return { user_id: userId, joined_at: v.joinedAt, idle: v.idle };
    });
  }

  /** The trees this replica has viewers of. */
  roots(): string[] {
    return [...this.local.keys()];
  }

  /** Another replica's viewers of the tree, valid until `expiresAt` (ms); [] removes them. */
  setRemote(root: string, replicaId: string, viewers: PresenceViewer[], expiresAt: number): void {
    let replicas = this.remote.get(root);
    if (viewers.length === 0) {
      replicas?.delete(replicaId);
    } else {
      replicas ??= new Map();
      this.remote.set(root, replicas);
      replicas.set(replicaId, { viewers, expiresAt });
    }
    if (replicas?.size === 0) {
      this.remote.delete(root);
    }
    this.mergedChanged(root);
  }

  /** Drops what replicas that stopped reporting (crashed) said. */
  expire(nowMs: number): void {
    for (const [root, replicas] of this.remote) {
      const before = replicas.size;
      for (const [replicaId, { expiresAt }] of replicas) {
        if (expiresAt <= nowMs) {
          replicas.delete(replicaId);
        }
      }
      if (replicas.size === 0) {
        this.remote.delete(root);
      }
      if (replicas.size !== before) {
        this.mergedChanged(root);
      }
    }
  }

  /** Forgets a tree this replica no longer views (the others' lists of it included). */
  forget(root: string): void {
    if (!this.local.has(root)) {
      this.remote.delete(root);
      this.merged.delete(root);
      this.published.delete(root);
    }
  }

  private localChanged(root: string): void {
    const mine = this.localViewers(root);
    if (!sameViewers(this.published.get(root) ?? [], mine)) {
      this.published.set(root, mine);
      this.options.onLocal(root, mine);
    }
    this.mergedChanged(root);
  }

  private mergedChanged(root: string): void {
    const byUser = new Map<string, PresenceViewer>();
    const lists = [
      this.localViewers(root),
      ...[...(this.remote.get(root)?.values() ?? [])].map((r) => r.viewers),
    ];
    for (const viewer of lists.flat()) {
      const known = byUser.get(viewer.user_id);
      byUser.set(
        viewer.user_id,
        known
          ? {
              user_id: viewer.user_id,
              joined_at: known.joined_at < viewer.joined_at ? known.joined_at : viewer.joined_at,
              idle: known.idle && viewer.idle,
            }
          : { ...viewer },
      );
    }
    const viewers = [...byUser.values()].sort(
      (a, b) => a.joined_at.localeCompare(b.joined_at) || a.user_id.localeCompare(b.user_id),
    );
    if (sameViewers(this.merged.get(root) ?? [], viewers)) {
      return;
    }
    if (viewers.length === 0) {
      this.merged.delete(root);
    } else {
      this.merged.set(root, viewers);
    }
    this.options.onViewers(root, viewers);
  }
}
