// shift-point
package com.acme.shop;

/** A command-line entry point: `shop import SETTINGS ORDER`. */
final class Cli {
    private Cli() {}

    static String importCommand(Shop shop, String[] argv) {
        // shift-point
        Settings.readPageSize(argv[2]);
        // shift-point
        return Orders.placeOrder(shop, Payload.parse(argv[3]));
    }
}
