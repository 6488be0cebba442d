import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';

import { JwtVerifierService } from 'src/common/auth/jwt-verifier.service';
import { RequestAuthService } from 'src/common/auth/request-auth.service';
import { TokenSigner } from 'src/common/auth/token-signer';
import { UserEntity } from 'src/common/auth/user.entity';
import { UsersRepository } from 'src/common/auth/users.repository';
import { UsersService } from 'src/common/auth/users.service';

@Global()
@Module({
  exports: [JwtVerifierService, RequestAuthService, TokenSigner, UsersService],
  // Keys are passed per call (the server secret for our tokens), so the module needs no options.
  imports: [JwtModule.register({}), TypeOrmModule.forFeature([UserEntity])],
  providers: [JwtVerifierService, RequestAuthService, TokenSigner, UsersRepository, UsersService],
})
export class AuthModule {}
