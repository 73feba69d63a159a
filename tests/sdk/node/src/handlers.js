'use strict';
// Request handlers of the shop.

const { parseSettings } = require('./config');
const { parseOrderBody } = require('./orders');
const { loadTemplate } = require('./templates');
const { displayName, findUser } = require('./users');

/** GET /users/:id */
function getProfile(request) {
  const user = findUser(request.userId);
  return { login: user.login, name: displayName(user) };
}

/** POST /orders/:id/receipt: a second way to reach displayName. */
function sendReceipt(request) {
  const user = findUser(request.userId);
  return `receipt for order ${request.orderId} sent to ${displayName(user)}`;
}

/** PUT /users/:id/settings */
function updateSettings(request) {
  return parseSettings(request.body);
}

/** POST /orders */
function createOrder(request) {
  const order = parseOrderBody(request.body);
  return { id: request.orderId, ...order };
}

/** GET /orders/:id/invoice: asynchronous, like most real handlers. */
async function renderInvoice(request) {
  await new Promise((resolve) => setImmediate(resolve));
  const template = loadTemplate(`invoice.${request.locale}`);
  return template.replace('{{order}}', String(request.orderId));
}

module.exports = { getProfile, sendReceipt, updateSettings, createOrder, renderInvoice };
