import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ResilienceMetrics } from './metrics.js';
import type { EndpointActive } from '../upstream/endpoint-activity.js';

test('endpoint_active_requests_gauge_lists_exactly_the_held_endpoints_at_each_scrape', async () => {
  const registry = new Registry();
  let now: EndpointActive[] = [
    { service: 'shop/echo.shop.svc.cluster.local', endpoint: '10.0.0.1:8080', active: 2 },
    { service: 'shop/echo.shop.svc.cluster.local', endpoint: '10.0.0.2:8080', active: 0 },
  ];
  new ResilienceMetrics({ registry, endpointActive: () => now });
  const text = await registry.getSingleMetricAsString('ambient_waypoint_endpoint_active_requests');
  assert.match(text, /ambient_waypoint_endpoint_active_requests\{destination_service="echo.shop.svc.cluster.local",endpoint="10.0.0.1:8080"\} 2/);
  assert.match(text, /endpoint="10.0.0.2:8080"\} 0/);
  now = [{ service: 'shop/echo.shop.svc.cluster.local', endpoint: '10.0.0.1:8080', active: 1 }];
  const after = await registry.getSingleMetricAsString('ambient_waypoint_endpoint_active_requests');
  assert.doesNotMatch(after, /10\.0\.0\.2/, 'an endpoint gone from the config leaves the gauge');
  assert.match(after, /endpoint="10.0.0.1:8080"\} 1/);
});
