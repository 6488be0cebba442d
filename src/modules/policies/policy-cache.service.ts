import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';

import { EventBus } from 'src/common/bus/event-bus';
import { PoliciesRepository } from 'src/modules/policies/policies.repository';
import { PolicyEntity } from 'src/modules/policies/policy.entity';
import { AgentsService } from 'src/modules/registry/agents.service';
import { AgentSpecWire } from 'src/protocol/agent-spec';

/** The bus channel of policy changes (every replica drops what it cached). */
export const POLICY_CHANGES_CHANNEL = 'x:policies';
/**
 * A safety net only: bus delivery is at most once, so a lost invalidation (or an agent spec
 * changed by a re-upload, which publishes none) is outlived after this long.
 */
export const POLICY_CACHE_TTL_MS = 30_000;
const MAX_SESSIONS = 10_000;

/** What changed: one session's policies, or the server-wide defaults. */
export type PolicyChange = { scope: 'session'; sessionId: string } | { scope: 'default' };

export type SpecGuardrails =
  Pick<AgentSpecWire, 'policies' | 'labels' | 'executor' | 'ask_timeout'> | undefined;

interface Entry<T> {
  at: number;
  value: Promise<T>;
  /** The value, once the load succeeded (what `peek` answers). */
  settled?: { value: T };
}

/** A cached lookup's value, read without loading or waiting (`{ value }`: it may be undefined). */
export type Peeked<T> = { value: T } | undefined;

/**
 * The per-session policy lookups every turn start and tool call makes (its stored policies, its
 * agent's spec, the server-wide defaults), cached. A change made through the API drops the
 * affected entries at once on this replica and, through the bus, on every other one (loads in
 * flight included: they are cached as their promise).
 */
@Injectable()
export class PolicyCacheService implements OnModuleInit, OnModuleDestroy {
  private readonly sessions = new Map<string, Entry<PolicyEntity[]>>();
  private readonly specs = new Map<string, Entry<SpecGuardrails>>();
  private readonly defaults = new Map<string, Entry<PolicyEntity[]>>();
  private unsubscribe?: () => void;

  constructor(
    private readonly agents: AgentsService,
    private readonly bus: EventBus,
    private readonly policies: PoliciesRepository,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.bus.subscribe(POLICY_CHANGES_CHANNEL, (message) =>
      this.invalidate(message as PolicyChange),
    );
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  sessionPolicies(sessionId: string): Promise<PolicyEntity[]> {
    return this.cached(this.sessions, sessionId, () =>
      this.policies.list({ scope: 'session', sessionId }, true),
    );
  }

  defaultPolicies(): Promise<PolicyEntity[]> {
    return this.cached(this.defaults, '', () => this.policies.list({ scope: 'default' }, true));
  }

  /** The guardrails part of an agent's spec (TTL only: agents publish no changes). */
  agentSpec(agentId: string): Promise<SpecGuardrails> {
    return this.cached(this.specs, agentId, async () => {
      const agent = await this.agents.getById(agentId);
      return agent?.spec as SpecGuardrails;
    });
  }

  /**
   * What `sessionPolicies`, `defaultPolicies` and `agentSpec` would answer now, synchronously:
   * undefined unless the entry is cached, settled and not expired (nothing is loaded). For a
   * caller that may not wait for a read (a unit of work holding a session's row lock).
   */
  peekSessionPolicies(sessionId: string): Peeked<PolicyEntity[]> {
    return this.peek(this.sessions, sessionId);
  }

  peekDefaultPolicies(): Peeked<PolicyEntity[]> {
    return this.peek(this.defaults, '');
  }

  peekAgentSpec(agentId: string): Peeked<SpecGuardrails> {
    return this.peek(this.specs, agentId);
  }

  /** A change was made here: dropped at once locally, then announced to every replica. */
  changed(change: PolicyChange): void {
    this.invalidate(change);
    this.bus.publish(POLICY_CHANGES_CHANNEL, change);
  }

  private invalidate(change: PolicyChange | null): void {
    if (change?.scope === 'session' && typeof change.sessionId === 'string') {
      this.sessions.delete(change.sessionId);
    } else {
      // The defaults, or a message this version does not know: drop everything policy.
      this.defaults.clear();
      this.sessions.clear();
    }
  }

  private peek<T>(map: Map<string, Entry<T>>, key: string): Peeked<T> {
    const hit = map.get(key);
    return hit && Date.now() - hit.at < POLICY_CACHE_TTL_MS ? hit.settled : undefined;
  }

  private cached<T>(map: Map<string, Entry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = map.get(key);
    if (hit && now - hit.at < POLICY_CACHE_TTL_MS) {
      return hit.value;
    }
    // Stored as its promise at once, so a change that comes in while it loads drops it too.
    const value = load();
    const entry: Entry<T> = { at: now, value };
    map.delete(key);
    map.set(key, entry);
    if (map.size > MAX_SESSIONS) {
      // Maps iterate in insertion order: the first key is the least recently loaded.
      map.delete(map.keys().next().value as string);
    }
    // A failed load is not kept.
    value.then(
      (loaded) => {
        entry.settled = { value: loaded };
      },
      () => map.get(key) === entry && map.delete(key),
    );
    return value;
  }
}
