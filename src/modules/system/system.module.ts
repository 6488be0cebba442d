import { Module } from '@nestjs/common';

import { SystemController } from 'src/modules/system/system.controller';

@Module({
  controllers: [SystemController],
})
export class SystemModule {}
