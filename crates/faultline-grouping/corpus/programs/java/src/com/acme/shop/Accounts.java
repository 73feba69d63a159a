// shift-point
package com.acme.shop;

import java.util.regex.Pattern;

final class Accounts {
    private static final Pattern EMAIL = Pattern.compile("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$");

    private Accounts() {}

    static String checkEmail(String email) {
        // shift-point
        if (!EMAIL.matcher(email).matches()) {
            // shift-point
            throw new IllegalArgumentException("invalid email address '" + email + "'");
        }
        return email.toLowerCase();
    }
}
