import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { RequestValidationError } from 'src/common/validation/request-validation.error';

/** The errors of `/v1/responses` (docs/RESPONSES.md "Errors"). */
export class ResponseError extends DomainError {
  /** 404: no such response, or another user's (indistinguishable). */
  static notFound(id: string): ResponseError {
    return new ResponseError(ErrorCode.NotFound, `Response ${id} does not exist`);
  }

  /** 404: `model` names no agent the caller can run. */
  static unknownModel(model: string): ResponseError {
    return new ResponseError(
      ErrorCode.NotFound,
      `Model '${model}' is not an agent of this server: use an agent name or id from GET /v1/agents`,
    );
  }

  /** 400: a request that is well-formed but cannot apply to the chain. */
  static invalid(message: string): ResponseError {
    return new ResponseError(ErrorCode.InvalidInput, message);
  }

  /**
   * 422: input the contract does not accept, with the `detail` list every 422 carries (`loc`
   * below `body`), so clients read it like any other validation error.
   */
  static invalidInput(message: string, loc: (string | number)[] = ['input']): DomainError {
    return new RequestValidationError([
      { loc: ['body', ...loc], msg: message, type: 'value_error' },
    ]);
  }

  /** 503: the caller has no runner a new chain can run on. */
  static noRunner(): ResponseError {
    return new ResponseError(
      ErrorCode.RunnerUnavailable,
      'No runner is available to run this response: connect one (`omnigent runner --server URL`) ' +
        'or start the server with its local runner (OMNIGENT_LOCAL_RUNNER); with several runners ' +
        'connected, create the chain through /v1/sessions and bind one',
    );
  }
}
