export {
  AgentsApi,
  OmnigentClient,
  RunnersApi,
  SessionsApi,
  type Agent,
  type AgentList,
  type CreateSessionRequest,
  type ElicitationAnswer,
  type EventAck,
  type ItemList,
  type ListItemsQuery,
  type ListSessionsQuery,
  type OmnigentClientOptions,
  type Runner,
  type RunnerList,
  type ServerInfo,
  type Session,
  type SessionEvent,
  type SessionList,
  type UpdateSessionRequest,
} from './client.js';
export { OmnigentError, type ValidationIssue } from './errors.js';
export {
  assistantText,
  ResponseSession,
  ResponsesApi,
  TERMINAL_RESPONSE_STATUSES,
  textChunks,
  type CreateResponseRequest,
  type PollOptions,
  type QueryOptions,
  type ResponseDeleted,
  type ResponseObject,
  type ResponsesTransport,
} from './responses.js';
export type { components, operations, paths } from './generated/openapi.js';
export type * from './generated/stream-events.js';
export {
  SessionStream,
  type ReconnectOptions,
  type SessionStreamOptions,
  type StreamTransport,
} from './stream.js';
