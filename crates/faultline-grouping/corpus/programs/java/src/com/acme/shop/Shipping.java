// shift-point
package com.acme.shop;

import java.time.LocalDate;

final class Shipping {
    private Shipping() {}

    static LocalDate parseShipDate(String text) {
        // shift-point
        return LocalDate.parse(text);
    }
}
