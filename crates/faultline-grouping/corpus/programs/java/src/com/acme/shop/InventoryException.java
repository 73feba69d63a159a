// shift-point
package com.acme.shop;

public class InventoryException extends RuntimeException {
    public InventoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
