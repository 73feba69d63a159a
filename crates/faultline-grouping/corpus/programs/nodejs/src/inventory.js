// shift-point
'use strict';
const { InventoryError } = require('./errors');

function reserve(stock, sku, qty) {
  // shift-point
  let level;
  try {
    level = stock.get(sku).available;
  } catch (err) {
    // shift-point
    throw new InventoryError(`cannot reserve ${qty} x ${sku}: unknown SKU`, { cause: err });
  }
  stock.set(sku, { available: level - qty });
  return level - qty;
}

module.exports = { reserve };
