export enum ApiTag {
  Agents = 'agents',
  Hosts = 'hosts',
  Policies = 'policies',
  PolicyRegistry = 'policy-registry',
  Resources = 'resources',
  Runners = 'runners',
  Sessions = 'sessions',
  System = 'system',
}
