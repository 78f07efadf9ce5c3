import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { envInt, loadEnvSection } from '@torgovo/core';

/** The re-seal of stored secrets after an ENCRYPTION_KEY rotation (worker job and CLI), validated once at start. */
export class SecretResealConfig {
  /** How often the worker re-seals rows still under an old key (and reports what is left in GET /health); 0 = off. */
  @Transform(envInt) @IsInt() @Min(0) @Max(86_400)
  SECRET_RESEAL_INTERVAL_SECONDS = 300;

  /** Rows read per statement, then re-sealed and written back by one guarded statement. */
  @Transform(envInt) @IsInt() @Min(1) @Max(10_000)
  SECRET_RESEAL_BATCH = 200;

  static fromEnv(env: NodeJS.ProcessEnv = process.env): SecretResealConfig {
    return loadEnvSection(SecretResealConfig, env);
  }
}
