export enum ApiTag {
  Agents = 'agents',
  Resources = 'resources',
  Runners = 'runners',
  Sessions = 'sessions',
  System = 'system',
}
