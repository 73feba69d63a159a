'use strict';
// Stock reservations: the bug both SDKs report in tests/e2e/sdk_sentry_node.rs.

const STOCK = new Map([['SKU-1', { count: 3 }]]);

class OrderError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'OrderError';
  }
}

function stockOf(sku) {
  // The bug: an unknown SKU has no entry.
  return STOCK.get(sku).count;
}

function reserveStock(orderId, sku) {
  try {
    return stockOf(sku);
  } catch (e) {
    throw new OrderError(`order ${orderId}: unknown sku ${sku}`, { cause: e });
  }
}

module.exports = { OrderError, reserveStock };
