import { Provider } from '@nestjs/common';
import { AppConfig } from '../config/config.service';
import { SecretBox } from './secret-box';

export const secretBoxProvider: Provider = {
  provide: SecretBox,
  inject: [AppConfig],
  useFactory: (config: AppConfig) => new SecretBox(config.encryptionKey, config.encryptionKeysOld),
};
