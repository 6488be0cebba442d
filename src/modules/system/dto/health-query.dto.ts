import { ValidateString } from 'src/common/validation/validation.decorators';

export class HealthQueryDto {
  @ValidateString({
    optional: true,
    maxLength: 200,
    description: 'Report runner liveness of this session.',
  })
  session_id?: string;

  @ValidateString({
    optional: true,
    maxLength: 20_000,
    description: 'Comma-separated session ids.',
  })
  session_ids?: string;
}
