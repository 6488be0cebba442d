import { OpsEnvDto } from 'src/config/env/ops-env.dto';

/**
 * Every environment variable the server reads, with its default. Documented in README.md
 * ("Configuration"); keep the two in step.
 *
 * The variables are declared by group in `src/config/env/`, one class per group, chained by
 * inheritance (server ← auth ← http ← files ← sessions ← runners ← limits ← ops) rather than
 * nested: the validated object stays one flat class, so getConfig() reports problems with the
 * same messages and in the same order as a single class would (class-validator walks the
 * ancestors in the order they were declared). A new variable goes into its group's class.
 */
export class EnvDto extends OpsEnvDto {}
