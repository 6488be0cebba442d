import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

import { EnvDto } from 'src/config/env.dto';
import { configProblems } from 'test/utils/config-problems';

// One bad variable from each group class, listed from the last group to the first.
const BAD_BY_GROUP: [string, string][] = [
  ['OMNIGENT_DRAIN_MS', '-1'], // ops
  ['OMNIGENT_QUOTA_RUNNERS_PER_USER', '0'], // limits
  ['OMNIGENT_RUNNER_GRACE_MS', '-1'], // runners
  ['OMNIGENT_SSE_HEARTBEAT_MS', '1'], // sessions
  ['OMNIGENT_FILES_MAX_BYTES', '0'], // files
  ['OMNIGENT_BODY_LIMIT', '1'], // http
  ['OMNIGENT_JWT_CLOCK_SKEW_S', '90'], // auth
  ['OMNIGENT_PORT', '70000'], // server
];

describe(EnvDto.name, () => {
  it('should report problems in declaration order, group by group', () => {
    const problems = configProblems(Object.fromEntries(BAD_BY_GROUP));
    const variables = problems.map((problem) => problem.split(' ')[0]);
    expect(variables).toEqual(BAD_BY_GROUP.map(([name]) => name).reverse());
  });

  it('should validate as one flat object', () => {
    const dto = plainToInstance(EnvDto, Object.fromEntries(BAD_BY_GROUP), {
      exposeDefaultValues: true,
    });
    const errors = validateSync(dto, { forbidUnknownValues: false });
    expect(errors.map((error) => error.children)).toEqual(errors.map(() => []));
    expect(Object.keys(new EnvDto())).toEqual(
      expect.arrayContaining(['OMNIGENT_HOST', 'OMNIGENT_AUTH', 'OMNIGENT_DRAIN_MS']),
    );
  });

  it('should let a rule of one group read a variable of another', () => {
    // OMNIGENT_LOCAL_RUNNER_USER (runners) is only required in jwt mode (auth).
    expect(
      configProblems({
        OMNIGENT_AUTH: 'jwt',
        OMNIGENT_JWKS_URL: 'https://idp.example/jwks',
        OMNIGENT_LOCAL_RUNNER: '1',
      }),
    ).toEqual(['OMNIGENT_LOCAL_RUNNER_USER is required when OMNIGENT_LOCAL_RUNNER=1 in jwt mode']);
  });
});
