import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TransactionalIdNotFoundException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Transaction steps for compat/tests/test_transactions_java.py.
 *
 * <pre>
 * WeirTxn produce BOOTSTRAP TOPIC TRANSACTIONAL_ID PARTITIONS
 * WeirTxn fence BOOTSTRAP TOPIC TRANSACTIONAL_ID
 * WeirTxn consume BOOTSTRAP TOPIC PARTITIONS ISOLATION COUNT
 * WeirTxn describe BOOTSTRAP TRANSACTIONAL_ID
 * </pre>
 * produce: one committed transaction ("c-P-I", five records per partition), one aborted
 * ("a-P-I"), then one more committed ("l-P"). fence: two producers with the same
 * transactional id; prints "FENCED" when the older one's commit is refused. consume: assigns
 * the partitions from the beginning with the isolation level, reads until COUNT records or
 * 15 s, prints one "C value" line per record. describe: Admin.describeTransactions, prints
 * "STATE state producerId" or "NOT_FOUND" when the broker does not know the id.
 */
public class WeirTxn {
    public static void main(String[] a) throws Exception {
        switch (a[0]) {
            case "produce" -> produce(a[1], a[2], a[3], Integer.parseInt(a[4]));
            case "fence" -> fence(a[1], a[2], a[3]);
            case "consume" -> consume(a[1], a[2], Integer.parseInt(a[3]), a[4], Integer.parseInt(a[5]));
            case "describe" -> describe(a[1], a[2]);
            default -> throw new IllegalArgumentException("unknown step " + a[0]);
        }
    }

    private static KafkaProducer<String, String> producer(String bootstrap, String tid) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, tid);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        KafkaProducer<String, String> producer = new KafkaProducer<>(p);
        producer.initTransactions();
        return producer;
    }

    private static void produce(String bootstrap, String topic, String tid, int partitions) {
        try (KafkaProducer<String, String> producer = producer(bootstrap, tid)) {
            producer.beginTransaction();
            for (int part = 0; part < partitions; part++)
                for (int i = 0; i < 5; i++)
                    producer.send(new ProducerRecord<>(topic, part, null, "c-" + part + "-" + i));
            producer.commitTransaction();
            producer.beginTransaction();
            for (int part = 0; part < partitions; part++)
                for (int i = 0; i < 5; i++)
                    producer.send(new ProducerRecord<>(topic, part, null, "a-" + part + "-" + i));
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            for (int part = 0; part < partitions; part++)
                producer.send(new ProducerRecord<>(topic, part, null, "l-" + part));
            producer.commitTransaction();
        }
    }

    private static void fence(String bootstrap, String topic, String tid) {
        KafkaProducer<String, String> old = producer(bootstrap, tid);
        old.beginTransaction();
        old.send(new ProducerRecord<>(topic, 0, null, "zombie"));
        old.flush();
        try (KafkaProducer<String, String> fresh = producer(bootstrap, tid)) {
            fresh.beginTransaction();
            fresh.send(new ProducerRecord<>(topic, 0, null, "new"));
            fresh.commitTransaction();
        }
        try {
            old.commitTransaction();
            System.out.println("NOT FENCED");
        } catch (ProducerFencedException e) {
            System.out.println("FENCED");
        } catch (Exception e) {
            System.out.println("ERROR " + e);
        } finally {
            old.close(Duration.ZERO);
        }
    }

    private static void consume(String bootstrap, String topic, int partitions, String isolation, int count) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        StringBuilder out = new StringBuilder();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            int got = 0;
            long deadline = System.currentTimeMillis() + 15_000;
            while (got < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    got++;
                    out.append("C\t").append(r.value()).append('\n');
                }
            }
            // Anything beyond COUNT?
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(1000)))
                out.append("C\t").append(r.value()).append('\n');
        }
        System.out.print(out);
    }

    private static void describe(String bootstrap, String tid) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(p)) {
            TransactionDescription d = admin.describeTransactions(List.of(tid)).description(tid).get();
            System.out.println("STATE\t" + d.state() + "\t" + d.producerId());
        } catch (java.util.concurrent.ExecutionException e) {
            if (!(e.getCause() instanceof TransactionalIdNotFoundException)) {
                throw e;
            }
            System.out.println("NOT_FOUND");
        }
    }
}
