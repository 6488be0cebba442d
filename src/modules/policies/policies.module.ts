import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { ApprovalMetricsService } from 'src/modules/policies/approval-metrics.service';
import { DefaultPoliciesController } from 'src/modules/policies/default-policies.controller';
import { ElicitationEntity } from 'src/modules/policies/elicitation.entity';
import { ElicitationsRepository } from 'src/modules/policies/elicitations.repository';
import { ElicitationsService } from 'src/modules/policies/elicitations.service';
import { JudgeClientService } from 'src/modules/policies/judge/judge-client.service';
import { PoliciesRepository } from 'src/modules/policies/policies.repository';
import { PoliciesService } from 'src/modules/policies/policies.service';
import { PolicyEntity } from 'src/modules/policies/policy.entity';
import { PolicyEvaluateService } from 'src/modules/policies/policy-evaluate.service';
import { PolicyEvaluationService } from 'src/modules/policies/policy-evaluation.service';
import { PolicyGateService } from 'src/modules/policies/policy-gate.service';
import { PolicyRegistryController } from 'src/modules/policies/policy-registry.controller';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { PolicyCacheService } from 'src/modules/policies/policy-cache.service';
import { PolicyUsageRepository } from 'src/modules/policies/policy-usage.repository';
import { PolicyStateRepository } from 'src/modules/policies/policy-state.repository';
import { SessionPoliciesController } from 'src/modules/policies/session-policies.controller';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { RunnersModule } from 'src/modules/runners/runners.module';
import { SessionsModule } from 'src/modules/sessions/sessions.module';

/** Policies, approvals and the policy registry (issue 8); plugs into the turn via TurnPolicyHooks. */
@Module({
  controllers: [DefaultPoliciesController, PolicyRegistryController, SessionPoliciesController],
  imports: [
    RegistryModule,
    RunnersModule,
    SessionsModule,
    TypeOrmModule.forFeature([ElicitationEntity, PolicyEntity]),
  ],
  providers: [
    ApprovalMetricsService,
    ElicitationsRepository,
    ElicitationsService,
    JudgeClientService,
    PoliciesRepository,
    PoliciesService,
    PolicyEvaluateService,
    PolicyCacheService,
    PolicyEvaluationService,
    PolicyGateService,
    PolicyRegistryService,
    PolicyStateRepository,
    PolicyUsageRepository,
  ],
})
export class PoliciesModule {}
