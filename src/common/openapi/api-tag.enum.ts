export enum ApiTag {
  Agents = 'agents',
  Hosts = 'hosts',
  Policies = 'policies',
  PolicyRegistry = 'policy-registry',
  Runners = 'runners',
  Sessions = 'sessions',
  System = 'system',
}
