import { ValidationError } from 'class-validator';

import { ValidationDetail } from 'src/common/errors/error-body';
import { RequestValidationError } from 'src/common/validation/request-validation.error';

// class-validator constraint names → FastAPI's error types where one fits (style rule 15).
const FASTAPI_TYPES: Record<string, string> = {
  arrayMaxSize: 'too_long',
  arrayMinSize: 'too_short',
  isArray: 'list_type',
  isBoolean: 'bool_parsing',
  isDefined: 'missing',
  isEnum: 'enum',
  isIn: 'literal_error',
  isInt: 'int_parsing',
  isNotEmpty: 'string_too_short',
  isNumber: 'float_parsing',
  isObject: 'dict_type',
  isString: 'string_type',
  matches: 'string_pattern_mismatch',
  max: 'less_than_equal',
  maxLength: 'string_too_long',
  min: 'greater_than_equal',
  minLength: 'string_too_short',
  whitelistValidation: 'extra_forbidden',
};

function flatten(errors: ValidationError[], path: (string | number)[]): ValidationDetail[] {
  return errors.flatMap((error) => {
    const loc = [...path, /^\d+$/.test(error.property) ? Number(error.property) : error.property];
    const own = Object.entries(error.constraints ?? {}).map(([constraint, msg]) => {
      const missing = error.value === undefined && constraint !== 'whitelistValidation';
      return {
        loc,
        msg: missing ? 'Field required' : msg,
        type: missing ? 'missing' : (FASTAPI_TYPES[constraint] ?? constraint),
        input: missing ? null : error.value,
      };
    });
    // A missing field reports once, not once per rule it fails.
    const deduped = own.some((d) => d.type === 'missing') ? own.slice(0, 1) : own;
    return [...deduped, ...flatten(error.children ?? [], loc)];
  });
}

/** ValidationPipe's exceptionFactory; the pipe adds the `body`/`query`/`path` prefix. */
export function validationExceptionFactory(errors: ValidationError[]): RequestValidationError {
  return new RequestValidationError(flatten(errors, []));
}
