// shift-point
'use strict';
const { ValidationError } = require('./errors');

const EMAIL = /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/;

function checkEmail(email) {
  // shift-point
  if (!EMAIL.test(email)) {
    // shift-point
    throw new ValidationError(`invalid email address "${email}"`);
  }
  return email.toLowerCase();
}

module.exports = { checkEmail };
