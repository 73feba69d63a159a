'use strict';
// Runs the shop's failing requests under the OpenTelemetry JS SDK and
// exports the spans to the server named by the standard variables:
//
//   OTEL_EXPORTER_OTLP_ENDPOINT   http://127.0.0.1:4317 (gRPC) or :4318 (HTTP)
//   OTEL_EXPORTER_OTLP_PROTOCOL   grpc | http/protobuf
//   OTEL_SERVICE_NAME             the service name
//   OTEL_RESOURCE_ATTRIBUTES      service.version=...,deployment.environment.name=...
//
// Driven by tests/e2e/sdk_node.rs, which knows what each request below
// should become on the server. Exits non-zero when an export failed.

const { diag, DiagConsoleLogger, DiagLogLevel, SpanKind, SpanStatusCode, trace } = require('@opentelemetry/api');
const { defaultResource, detectResources, envDetector } = require('@opentelemetry/resources');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');

const handlers = require('./src/handlers');

function spanExporter() {
  // Both exporters read OTEL_EXPORTER_OTLP_ENDPOINT themselves (the HTTP
  // one appends /v1/traces).
  const protocol = process.env.OTEL_EXPORTER_OTLP_PROTOCOL || 'grpc';
  if (protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
    return new OTLPTraceExporter();
  }
  if (protocol === 'http/protobuf') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
    return new OTLPTraceExporter();
  }
  throw new Error(`unsupported OTEL_EXPORTER_OTLP_PROTOCOL ${JSON.stringify(protocol)}`);
}

/** Counts failed exports so the process can fail instead of losing them quietly. */
function countingExporter(inner, failures) {
  return {
    export(spans, done) {
      inner.export(spans, (result) => {
        if (result.code !== 0) failures.push(result.error ? String(result.error) : `code ${result.code}`);
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => (inner.forceFlush ? inner.forceFlush() : Promise.resolve()),
  };
}

/**
 * What an instrumented web framework does for a request: a SERVER span,
 * the handler's error recorded on it and answered with a 500.
 */
async function serve(tracer, method, route, handler, request) {
  return tracer.startActiveSpan(
    `${method} ${route}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } },
    async (span) => {
      try {
        await handler(request);
        span.setAttribute('http.response.status_code', 200);
        return 200;
      } catch (err) {
        span.recordException(err);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        span.setAttribute('http.response.status_code', 500);
        return 500;
      } finally {
        span.end();
      }
    },
  );
}

async function main() {
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over the SDK's defaults.
  const resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  const failures = [];
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(countingExporter(spanExporter(), failures))],
  });
  // The global tracer provider and the AsyncLocalStorage context manager.
  provider.register();
  const tracer = trace.getTracer('shop');

  const expect = (status, wanted, what) => {
    if (status !== wanted) throw new Error(`${what}: answered ${status}, expected ${wanted}`);
  };

  // TypeError reading 'name' of a missing profile in displayName, reached
  // from two handlers.
  expect(await serve(tracer, 'GET', '/users/:id', handlers.getProfile, { userId: 7 }), 500, 'profile 7');
  expect(
    await serve(tracer, 'POST', '/orders/:id/receipt', handlers.sendReceipt, { userId: 9, orderId: 1001 }),
    500,
    'receipt 1001',
  );
  expect(await serve(tracer, 'GET', '/users/:id', handlers.getProfile, { userId: 9 }), 500, 'profile 9');
  expect(await serve(tracer, 'GET', '/users/:id', handlers.getProfile, { userId: 8 }), 200, 'profile 8');

  // JSON.parse failing in two different functions: two bugs.
  expect(
    await serve(tracer, 'PUT', '/users/:id/settings', handlers.updateSettings, { body: "{'theme': 'dark'}" }),
    500,
    'settings',
  );
  expect(
    await serve(tracer, 'POST', '/orders', handlers.createOrder, { orderId: 2001, body: 'not json' }),
    500,
    'order 2001',
  );
  expect(
    await serve(tracer, 'POST', '/orders', handlers.createOrder, { orderId: 2002, body: '{"sku": "SKU-1", "quantity": }' }),
    500,
    'order 2002',
  );
  expect(
    await serve(tracer, 'POST', '/orders', handlers.createOrder, { orderId: 2003, body: '{"sku": "SKU-1", "quantity": 2}' }),
    200,
    'order 2003',
  );

  // fs.readFileSync of a template that is not there: err.code is ENOENT,
  // after an await.
  expect(
    await serve(tracer, 'GET', '/orders/:id/invoice', handlers.renderInvoice, { orderId: 3001, locale: 'de' }),
    500,
    'invoice de',
  );
  expect(
    await serve(tracer, 'GET', '/orders/:id/invoice', handlers.renderInvoice, { orderId: 3002, locale: 'fr' }),
    500,
    'invoice fr',
  );

  await provider.forceFlush();
  await provider.shutdown();
  if (failures.length > 0) {
    console.error(`export failed: ${failures.join('; ')}`);
    process.exit(1);
  }
  console.log('sent');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
