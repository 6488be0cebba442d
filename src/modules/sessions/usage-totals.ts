import type { Usage } from 'src/protocol/stream-event-types';

/**
 * A session's cumulative LLM usage (what cost policies read: spec/policies.md §2.3 `usage`),
 * plus the same for the current UTC day (summed over a user's sessions for
 * `user_daily_cost_budget`). Cost is only known when the harness prices a turn (`cost_usd`);
 * the tokens of unpriced turns are counted apart.
 */
export interface UsageTotals {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** Sum of the priced turns' cost. */
  cost_usd: number;
  /** Tokens of turns that reported no cost. */
  unpriced_tokens: number;
  /** The UTC day (`YYYY-MM-DD`) the day_* fields count. */
  day: string;
  day_cost_usd: number;
  day_unpriced_tokens: number;
}

export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function count(value: unknown): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The totals after one finished turn reported `usage`. */
export function addUsage(totals: UsageTotals | null, usage: Usage, at: Date): UsageTotals {
  const input = count(usage.input_tokens);
  const output = count(usage.output_tokens);
  const total = count(usage.total_tokens) || input + output;
  const cost = typeof usage.cost_usd === 'number' && usage.cost_usd >= 0 ? usage.cost_usd : null;
  const day = utcDay(at);
  const sameDay = totals?.day === day;
  return {
    input_tokens: (totals?.input_tokens ?? 0) + input,
    output_tokens: (totals?.output_tokens ?? 0) + output,
    total_tokens: (totals?.total_tokens ?? 0) + total,
    cost_usd: (totals?.cost_usd ?? 0) + (cost ?? 0),
    unpriced_tokens: (totals?.unpriced_tokens ?? 0) + (cost === null ? total : 0),
    day,
    day_cost_usd: (sameDay ? totals.day_cost_usd : 0) + (cost ?? 0),
    day_unpriced_tokens: (sameDay ? totals.day_unpriced_tokens : 0) + (cost === null ? total : 0),
  };
}

/**
 * The session's `total_cost_usd`: null while no turn was priced (then every token is unpriced),
 * as the policies' `usage` reads it; never a guessed price for unpriced tokens.
 */
export function pricedCostUsd(totals: UsageTotals | null): number | null {
  if (!totals || (totals.total_tokens > 0 && totals.unpriced_tokens >= totals.total_tokens)) {
    return null;
  }
  return totals.cost_usd;
}
