// shift-point
'use strict';

function loadCustomer(customers, customerId) {
  // shift-point
  const record = customers[customerId];
  // shift-point
  return { id: customerId, email: record.email, tier: record.tier || 'basic' };
}

module.exports = { loadCustomer };
