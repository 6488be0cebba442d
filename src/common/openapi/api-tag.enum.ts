export enum ApiTag {
  Agents = 'agents',
  Hosts = 'hosts',
  Runners = 'runners',
  Sessions = 'sessions',
  System = 'system',
}
