// shift-point
'use strict';

function readSettings(raw) {
  // shift-point
  const settings = JSON.parse(raw);
  // shift-point
  return { currency: 'EUR', ...settings };
}

module.exports = { readSettings };
