export enum ApiTag {
  Agents = 'agents',
  Hosts = 'hosts',
  Policies = 'policies',
  PolicyRegistry = 'policy-registry',
  Resources = 'resources',
  Responses = 'responses',
  Runners = 'runners',
  Sessions = 'sessions',
  System = 'system',
}
