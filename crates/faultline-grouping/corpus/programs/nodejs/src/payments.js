// shift-point
'use strict';
const net = require('node:net');
const { PaymentError } = require('./errors');

// Nothing listens on the discard port here, so live charges are refused.
const GATEWAY = { host: '127.0.0.1', port: 9 };

function callGateway(token, amount) {
  // shift-point
  return new Promise((resolve, reject) => {
    const socket = net.connect(GATEWAY, () => {
      socket.end(`${token}:${amount}`);
      resolve('ch_live');
    });
    socket.on('error', reject);
  });
}

async function charge(customer, amount, card) {
  // shift-point
  if (card.token.startsWith('tok_test')) {
    return 'ch_test';
  }
  try {
    return await callGateway(card.token, amount);
  } catch (err) {
    // shift-point
    throw new PaymentError(`charge of ${amount} EUR for ${customer.email} failed`, { cause: err });
  }
}

module.exports = { charge };
