'use strict';
// User records, as the service would load them from its database.

// Some users never completed their profile.
const USERS = new Map([
  [7, { id: 7, login: 'ada' }],
  [8, { id: 8, login: 'grace', profile: { name: 'Grace Hopper' } }],
  [9, { id: 9, login: 'alan' }],
]);

function findUser(id) {
  return USERS.get(id);
}

function displayName(user) {
  // The bug: assumes every user has a profile.
  return user.profile.name;
}

module.exports = { findUser, displayName };
