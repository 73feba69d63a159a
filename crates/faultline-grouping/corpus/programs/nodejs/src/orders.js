// shift-point
'use strict';
const accounts = require('./accounts');
const catalog = require('./catalog');
const customers = require('./customers');
const inventory = require('./inventory');
const payments = require('./payments');
const shipping = require('./shipping');
const { ValidationError } = require('./errors');

function parseOrderPayload(raw) {
  // shift-point
  const order = JSON.parse(raw);
  // shift-point
  return order;
}

function parseLineItems(order) {
  // shift-point
  // Line items arrive as a JSON string inside the order (a form field).
  return JSON.parse(order.items);
}

function checkQuantity(orderId, qty) {
  // shift-point
  if (qty <= 0) {
    // shift-point
    throw new ValidationError(`quantity must be positive for order ${orderId}, got ${qty}`);
  }
  return qty;
}

async function placeOrder(ctx, order) {
  // shift-point
  checkQuantity(order.id, order.qty);
  parseLineItems(order);
  accounts.checkEmail(order.email);
  const customer = customers.loadCustomer(ctx.customers, order.customerId);
  // shift-point
  inventory.reserve(ctx.stock, order.sku, order.qty);
  catalog.categoryPath(ctx.categories, order.category);
  // shift-point
  await payments.charge(customer, order.amount, order.card);
  return shipping.trackingLink(order.trackingUrl);
}

async function amendOrder(ctx, order) {
  // shift-point
  const customer = customers.loadCustomer(ctx.customers, order.customerId);
  accounts.checkEmail(order.email);
  // shift-point
  checkQuantity(order.id, order.qty);
  module.exports.parseLineItems(order);
  inventory.reserve(ctx.stock, order.sku, order.qty);
  // shift-point
  return payments.charge(customer, order.amount, order.card);
}

module.exports = { parseOrderPayload, parseLineItems, checkQuantity, placeOrder, amendOrder };
