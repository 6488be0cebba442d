export enum ApiTag {
  Agents = 'agents',
  Policies = 'policies',
  PolicyRegistry = 'policy-registry',
  Runners = 'runners',
  Sessions = 'sessions',
  System = 'system',
}
