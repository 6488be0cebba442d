export enum ApiTag {
  Agents = 'agents',
  /** WebSocket endpoints: described on the tag, no operations. */
  Channels = 'channels',
  Hosts = 'hosts',
  Policies = 'policies',
  PolicyRegistry = 'policy-registry',
  Resources = 'resources',
  Responses = 'responses',
  Runners = 'runners',
  Sessions = 'sessions',
  System = 'system',
}
