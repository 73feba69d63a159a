'use strict';
// The real @sentry/node sends to the server by DSN (tests/e2e/sdk_sentry_node.rs):
//
//   node sentry_app.js DSN     a chained error, a message, a custom
//                              fingerprint, user/tags/breadcrumbs and two
//                              transactions (one failed);
//   node sentry_app.js same-bug sentry DSN
//   node sentry_app.js same-bug otel
//                              one bug (src/stock.js) reported by either SDK;
//                              the OTel run reads the OTEL_* variables as
//                              app.js does.
//
// Prints `sent` when every envelope was answered 200 (the transport's
// answers are recorded), else what was answered.

const Sentry = require('@sentry/node');

const { reserveStock } = require('./src/stock');
const { parseOrderBody } = require('./src/orders');

/** A node transport that records each answer's status. */
function recording(answers) {
  return (options) => {
    const inner = Sentry.makeNodeTransport(options);
    return {
      send: async (envelope) => {
        const response = await inner.send(envelope);
        answers.push(response.statusCode);
        return response;
      },
      flush: (timeout) => inner.flush(timeout),
    };
  };
}

function init(dsn, answers) {
  Sentry.init({
    dsn,
    release: 'shop-node@5.1.0',
    environment: 'staging',
    serverName: 'node-1',
    tracesSampleRate: 1.0,
    // 'stream' (11.x's default) sends spans as `span` items, 'static' as
    // transactions: both feed API health.
    traceLifecycle: process.env.SENTRY_TRACE_LIFECYCLE || 'stream',
    transport: recording(answers),
  });
}

/** The caller both SDKs report from: the same frames either way. */
function checkout(report) {
  try {
    reserveStock(3001, 'SKU-404');
  } catch (e) {
    report(e);
  }
}

async function sentryScenarios(dsn) {
  const answers = [];
  init(dsn, answers);
  Sentry.setUser({ id: '42', email: 'ada@example.com' });
  Sentry.setTag('tenant', 'acme');
  Sentry.addBreadcrumb({ category: 'queue', message: 'processing order queue', level: 'info' });

  // A thrown Error with a cause.
  checkout((e) => Sentry.captureException(e));

  // A message.
  Sentry.captureMessage('payment provider declined order 3002', 'error');

  // A custom fingerprint on top of the default grouping.
  try {
    parseOrderBody('{"sku": "SKU-1", quantity: }');
  } catch (e) {
    Sentry.withScope((scope) => {
      scope.setFingerprint(['{{ default }}', 'tenant-acme']);
      Sentry.captureException(e);
    });
  }

  // Transactions for API health: one answered 200, one 500.
  for (const status of [200, 500]) {
    Sentry.startSpan(
      {
        name: 'GET /orders/:id',
        op: 'http.server',
        forceTransaction: true,
        attributes: { 'http.request.method': 'GET', 'http.response.status_code': status },
      },
      (span) => {
        // Busy for at least 5 ms (a monotonic clock; Date.now() ticks
        // whole milliseconds): a duration the test can check.
        const start = performance.now();
        while (performance.now() - start < 5) {
          // busy
        }
        if (status >= 500) span.setStatus({ code: 2, message: 'internal_error' });
      },
    );
  }
  await Sentry.flush(10000);
  return answers;
}

async function sameBugSentry(dsn) {
  const answers = [];
  init(dsn, answers);
  checkout((e) => Sentry.captureException(e));
  await Sentry.flush(10000);
  return answers;
}

async function sameBugOtel() {
  const { SpanStatusCode } = require('@opentelemetry/api');
  const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
  const { defaultResource, detectResources, envDetector } = require('@opentelemetry/resources');
  const answers = [];
  const exporter = new OTLPTraceExporter();
  const recordingExporter = {
    export: (spans, done) =>
      exporter.export(spans, (result) => {
        answers.push(result.code === 0 ? 200 : `failed: ${result.error}`);
        done(result);
      }),
    shutdown: () => exporter.shutdown(),
  };
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new SimpleSpanProcessor(recordingExporter)],
  });
  const tracer = provider.getTracer('shop');
  checkout((e) => {
    const span = tracer.startSpan('checkout');
    span.recordException(e);
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
    span.end();
  });
  await provider.shutdown();
  return answers;
}

async function main() {
  const [first, second, third] = process.argv.slice(2);
  let answers;
  if (first === 'same-bug') {
    answers = second === 'otel' ? await sameBugOtel() : await sameBugSentry(third);
  } else {
    answers = await sentryScenarios(first);
  }
  const ok = answers.length > 0 && answers.every((status) => status === 200);
  console.log(ok ? 'sent' : `answered ${JSON.stringify(answers)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
