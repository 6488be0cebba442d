export enum ApiTag {
  Agents = 'agents',
  Runners = 'runners',
  Sessions = 'sessions',
  System = 'system',
}
