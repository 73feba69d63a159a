<?php
// shift-point
declare(strict_types=1);

namespace App;

final class Inventory
{
    /** @param array<string, int> $stock */
    public function __construct(private array $stock)
    {
    }

    private function level(string $sku): int
    {
        // shift-point
        if (!array_key_exists($sku, $this->stock)) {
            throw new \OutOfBoundsException("no stock record for $sku");
        }
        return $this->stock[$sku];
    }

    public function reserve(string $sku, int $qty): int
    {
        // shift-point
        try {
            $level = $this->level($sku);
        } catch (\OutOfBoundsException $e) {
            // shift-point
            throw new InventoryException("cannot reserve $qty x $sku: unknown SKU", 0, $e);
        }
        $this->stock[$sku] = $level - $qty;
        return $level - $qty;
    }
}
