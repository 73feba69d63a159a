'use strict';
// Order request bodies.

function parseOrderBody(body) {
  const order = JSON.parse(body);
  return { sku: order.sku, quantity: Number(order.quantity) };
}

module.exports = { parseOrderBody };
