// shift-point
'use strict';

class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ValidationError';
  }
}

class InventoryError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'InventoryError';
  }
}

class PaymentError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'PaymentError';
  }
}

module.exports = { ValidationError, InventoryError, PaymentError };
