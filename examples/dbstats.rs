use redb::{ReadableTableMetadata, Database, ReadableDatabase, TableDefinition, TableHandle};
fn main() {
    let db = Database::open(std::env::args().nth(1).unwrap()).unwrap();
    let w = db.begin_write().unwrap();
    println!("{:?}", w.stats().unwrap());
    let r = db.begin_read().unwrap();
    for t in r.list_tables().unwrap() {
        let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(t.name());
        match r.open_table(def) { Ok(tab) => println!("{} {:?}", t.name(), tab.stats().unwrap()), Err(e) => println!("{} {e}", t.name()) }
    }
}
