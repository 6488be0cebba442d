import { NextFunction, Request, Response } from 'express';

import { routeTemplate } from 'src/common/logging/pino-options.util';
import { MetricsService } from 'src/modules/metrics/metrics.service';

/** Counts every request by method, route template and status, with its latency. */
export function httpMetricsMiddleware(metrics: MetricsService) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      // Unmatched paths share one label: a scanner must not mint a series per URL.
      const labels = {
        method: req.method,
        route: routeTemplate(req) ?? 'unmatched',
        status: String(res.statusCode),
      };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
