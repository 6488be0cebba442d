import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { WEBSOCKET_ROUTES, websocketTagDescription } from 'src/common/openapi/websocket-routes';
import { AppConfig } from 'src/config/app-config';

export function buildOpenApiDocument(app: INestApplication, config: AppConfig): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Omnigent Server')
    .setDescription(
      'Run AI-agent sessions: create sessions, post events, and watch the agent work live over ' +
        'Server-Sent Events. Wire-compatible with upstream Omnigent. Authenticate with a Bearer ' +
        'JWT (OMNIGENT_AUTH=jwt); in local mode (OMNIGENT_AUTH=none) no credential is needed.',
    )
    .setVersion(config.version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  for (const tag of Object.values(ApiTag)) {
    builder.addTag(tag, tag === ApiTag.Channels ? websocketTagDescription() : undefined);
  }
  const document = SwaggerModule.createDocument(app, builder.build());
  return { ...document, 'x-websocket-routes': WEBSOCKET_ROUTES } as OpenAPIObject;
}

/** Swagger UI at /docs and the document at /openapi.json, both public (spec/README.md §5). */
export function setupSwagger(app: INestApplication, config: AppConfig): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app, config), {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
    swaggerOptions: { persistAuthorization: true },
  });
}
