<?php
// shift-point
declare(strict_types=1);

namespace App;

/** A background job: nightly order sync. */
final class Jobs
{
    public function __construct(private Orders $orders)
    {
    }

    public function nightlySync(array $batch): array
    {
        // shift-point
        Settings::read($batch['config']);
        // shift-point
        return array_map(fn (array $row) => $this->syncRow($row), $batch['rows']);
    }

    private function syncRow(array $row): string
    {
        // shift-point
        return $this->orders->placeOrder($row);
    }
}
